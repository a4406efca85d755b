"""A PSF-matching kernel from the two PSF models, for cutouts without kernel stars.

A 63 x 63 alert stamp holds the transient and perhaps one star: too few
sources to fit a kernel on. The two PSFs are known (models, or FWHMs from the
alert), so the kernel's *shape* is the one that maps the convolved image's PSF
onto the other's: it is fitted on the two noiseless PSF images with the
configured basis. What the PSFs cannot give, the photometric scale and the
differential background, comes from elsewhere, with the kernel shape fixed:
``reference ~ s (K (x) convolved) + b``.

- The background ``b`` is the difference of the two images' clipped medians.
- The scale ``s`` cannot be fitted on the stamp's flux as a whole: an alert
  stamp is centred on its candidate, often a variable star or a nucleus that
  holds most of the stamp's flux, and a fitted scale makes that object vanish
  from the difference (on real ZTF alert stamps it erased 90 % of the
  candidates' flux). So ``s`` is, in this order: the ratio of the two zero
  points when both images are calibrated (what a survey pipeline knows from
  the whole detector); the median of the per-object flux ratios when the
  image holds at least `MIN_SCALE_OBJECTS` bright separate objects (one
  variable among them does not move a median); else 1, and ``metadata
  ["psfModelScaleSource"]`` says ``assumed``.
"""
from __future__ import annotations

import numpy as np

from ..image.stats import clipped_stats
from .basis import make_basis, regularization_matrix
from .convolve import convolve_exposure
from .errors import PsfMatchInputError
from .fit import PsfMatchResult
from .kernel import SpatialBackground, SpatialKernel
from .solve import build_stamp_systems, solve_systems
from .spatial import SpatialFunction

__all__ = ["fit_psf_model_kernel"]

_SOURCE_SNR = 5.0
"""Per-pixel S/N above which a pixel of the convolved image belongs to an object."""

MIN_SCALE_OBJECTS = 5
"""Fewest objects whose median flux ratio is taken as the scale. On real ZTF alert
stamps the ratios of single bright objects scatter by 5-10 % (variables, galaxies
seen through different PSFs): three of them do not make a scale."""

_OBJECT_GROWTH = 3
"""Pixels by which an object's S/N >= 5 core is grown to sum its flux."""

_OBJECT_RATIO_ERROR = 0.02
"""Largest noise error of an object's flux ratio for it to count."""


def fit_psf_model_kernel(convolved, reference, config, bad_mask_planes):
    """Kernel shape from the PSF models, flux scale and background from the pixels.

    Parameters
    ----------
    convolved, reference : `diffim.Exposure`
        The image to convolve and the image to match, on one pixel grid, both
        with a PSF.
    config : `PsfMatchConfig`
        Basis and kernel size (``fitForBackground`` says whether ``b`` is fitted).
    bad_mask_planes : sequence of `str`
        Pixels left out of the scale and background fit (with ``EDGE``).

    Returns
    -------
    result : `PsfMatchResult`
        A spatially constant kernel and background; no candidates;
        ``metadata["kernelSource"] == "psf-model"``.

    Raises
    ------
    PsfMatchInputError
        If either image lacks a PSF or no pixel is left to fit the scale.
    """
    if convolved.psf is None or reference.psf is None:
        raise PsfMatchInputError("a kernel from the PSF models needs a PSF for both images")
    bbox = reference.bbox
    centre = bbox.center
    convolved_fwhm = float(convolved.psf.computeFwhm(*centre))
    reference_fwhm = float(reference.psf.computeFwhm(*centre))
    basis = make_basis(config, convolved_fwhm, reference_fwhm, min(bbox.shape))
    shape = _kernel_shape(basis, convolved.psf.computeKernelImage(*centre),
                          reference.psf.computeKernelImage(*centre), config)
    constant = SpatialFunction(config.spatialModelType, 0, bbox)
    unit_kernel = SpatialKernel(basis, constant, shape[:, None])
    matched = convolve_exposure(convolved, unit_kernel, bad_mask_planes=list(bad_mask_planes))
    excluded = (*bad_mask_planes, "EDGE")
    usable = np.ones(bbox.shape, bool)
    for exposure in (matched, reference):
        usable &= exposure.mask.unmasked(excluded)
    target_sky, model_sky, keep = _backgrounds(matched.image, matched.variance, reference.image,
                                               usable, config.fitForBackground)
    scale, scale_source, n_objects = _calibration_ratio(convolved, reference), "calibration", 0
    if scale is None:
        scale, n_objects = _object_ratio(matched.image - model_sky, matched.variance,
                                         reference.image - target_sky, reference.variance, keep)
        scale_source = "objects" if scale is not None else "assumed"
        scale = 1.0 if scale is None else scale
    background = target_sky - scale * model_sky
    kernel = SpatialKernel(basis, constant, scale * shape[:, None])
    background_model = SpatialBackground(constant, np.array([background]))
    candidates = np.rec.fromarrays([np.zeros(0), np.zeros(0), np.zeros(0, bool)], names="x,y,used")
    metadata = {"basis": basis.name, "kernelSize": basis.size, "nBasis": len(basis),
                "templateFwhm": convolved_fwhm, "scienceFwhm": reference_fwhm,
                "nCandidates": 0, "nUsed": 0, "kernelSource": "psf-model",
                "kernelSumCentre": float(scale), "psfModelScaleObjects": n_objects,
                "psfModelScaleSource": scale_source,
                "spatialKernelOrderUsed": 0, "spatialBgOrderUsed": 0}
    return PsfMatchResult(kernel, background_model, candidates, metadata, config,
                          np.zeros((0, len(basis) + int(config.fitForBackground))))


def _calibration_ratio(convolved, reference):
    """Counts of one source in ``reference`` per count in ``convolved``, from the zero points.

    None when either image has no calibration.
    """
    if convolved.photo_calib is None or reference.photo_calib is None:
        return None
    return 10.0 ** (0.4 * (reference.photo_calib.zero_point - convolved.photo_calib.zero_point))


def _kernel_shape(basis, convolved_psf, reference_psf, config):
    """Basis coefficients of the unit-sum kernel with ``K (x) convolved_psf ~ reference_psf``.

    Both PSF images are centred in a stamp of ``2 kernelSize + 1`` pixels plus
    their own half-widths, so that the fit region holds both PSFs whole.
    """
    half = basis.half_width + max(convolved_psf.shape[0], reference_psf.shape[0]) // 2
    size = 2 * (half + basis.half_width) + 1
    stamps = np.zeros((2, 1, size, size))
    for stamp, psf in zip(stamps, (convolved_psf, reference_psf)):
        offset = (size - psf.shape[0]) // 2
        stamp[0, offset:offset + psf.shape[0], offset:offset + psf.shape[1]] = psf / psf.sum()
    regularization = None
    if config.kernelBasisSet == "delta-function" and config.useRegularization:
        # Noiseless PSF images: a light touch keeps the impulses smooth.
        regularization = 1e-6 * regularization_matrix(
            basis.size, config.regularizationType, config.centralRegularizationStencil,
            config.forwardRegularizationOrders)
    systems = build_stamp_systems(basis, stamps[0], stamps[1], np.ones_like(stamps[0]), False,
                                  True, regularization)
    coefficients, _ = solve_systems(systems.matrix, systems.vector)
    coefficients = coefficients[0]
    return coefficients / (coefficients @ basis.images.sum(axis=(1, 2)))


def _backgrounds(model, model_variance, target, usable, fit_background):
    """Clipped-median backgrounds of both images and the pixels usable for the scale.

    Returns
    -------
    target_sky, model_sky : `float`
        Backgrounds of both images (0 without ``fit_background``).
    keep : `numpy.ndarray`
        Usable pixels with a positive model variance.

    Raises
    ------
    PsfMatchInputError
        If fewer than 3 pixels are usable.
    """
    keep = usable & (model_variance > 0)
    if keep.sum() < 3:
        raise PsfMatchInputError(
            f"only {int(keep.sum())} usable pixels to fit the flux scale from the PSF models")
    if not fit_background:
        return 0.0, 0.0, keep
    return (clipped_stats(target[keep].astype(float))[0],
            clipped_stats(model[keep].astype(float))[0], keep)


def _object_ratio(model, model_variance, target, target_variance, keep):
    """Median over the image's objects of target flux / model flux, with the object count.

    An object is a connected group of pixels where the background-subtracted
    ``model`` has S/N >= 5; its flux is summed over that group grown by
    `_OBJECT_GROWTH` pixels, so that it holds the PSF wings too. Summing whole
    objects, rather than fitting a slope over pixels, avoids the bias that the
    noise in ``model`` would give a least-squares slope. Only objects whose ratio
    is known to `_OBJECT_RATIO_ERROR` count. A transient absent from ``model``
    is not an object; a variable star is one object among several and does not
    move the median.

    Returns
    -------
    ratio : `float` or None
        None when fewer than `MIN_SCALE_OBJECTS` objects count.
    n_objects : `int`
        Objects that count.
    """
    from scipy.ndimage import grey_dilation, label, sum_labels  # cutouts only

    significant = keep & (model >= _SOURCE_SNR * np.sqrt(np.where(keep, model_variance, 1.0)))
    labels, n_found = label(significant)
    # Grown footprints: each pixel takes the largest label within reach, and only
    # usable pixels count (two objects closer than that merge into the larger label).
    size = 2 * _OBJECT_GROWTH + 1
    labels = np.where(keep, grey_dilation(labels, size=(size, size)), 0)
    index = np.arange(1, n_found + 1)
    model_flux = sum_labels(model, labels, index)
    target_flux = sum_labels(target, labels, index)
    noise = np.sqrt(sum_labels(model_variance + target_variance, labels, index))
    with np.errstate(divide="ignore", invalid="ignore"):
        counts = (model_flux > 0) & (noise / model_flux <= _OBJECT_RATIO_ERROR)
    n_objects = int(counts.sum())
    if n_objects < MIN_SCALE_OBJECTS:
        return None, n_objects
    return float(np.median(target_flux[counts] / model_flux[counts])), n_objects
