"""A PSF-matching kernel from the two PSF models, for cutouts without kernel stars.

A 63 x 63 alert stamp holds the transient and perhaps one star: too few
sources to fit a kernel on. The two PSFs are known (models, or FWHMs from the
alert), so the kernel's *shape* is the one that maps the convolved image's PSF
onto the other's: it is fitted on the two noiseless PSF images with the
configured basis. What the PSFs cannot give, the photometric scale and the
differential background, is fitted on the whole stamp, with the kernel shape
fixed: ``reference ~ s (K (x) convolved) + b``, iteratively clipping pixels
that do not follow (the transient itself, cosmic rays).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

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
    basis = make_basis(config, convolved_fwhm, reference_fwhm)
    shape = _kernel_shape(basis, convolved.psf.computeKernelImage(*centre),
                          reference.psf.computeKernelImage(*centre), config)
    constant = SpatialFunction(config.spatialModelType, 0, bbox)
    unit_kernel = SpatialKernel(basis, constant, shape[:, None])
    matched = convolve_exposure(convolved, unit_kernel, bad_mask_planes=list(bad_mask_planes))
    excluded = (*bad_mask_planes, "EDGE")
    usable = np.ones(bbox.shape, bool)
    for exposure in (matched, reference):
        usable &= ~exposure.mask.get([p for p in excluded if p in exposure.mask.planes])
    scale, target_sky, model_sky, n_fit = _scale_and_background(
        matched.image, matched.variance, reference.image, usable, config.fitForBackground)
    scale_source = "pixels"
    if not np.isfinite(scale):
        scale, scale_source = _calibration_ratio(convolved, reference), "calibration"
    background = target_sky - scale * model_sky
    kernel = SpatialKernel(basis, constant, scale * shape[:, None])
    background_model = SpatialBackground(constant, np.array([background]))
    candidates = pd.DataFrame({"x": pd.Series(dtype=float), "y": pd.Series(dtype=float),
                               "used": pd.Series(dtype=bool)})
    metadata = {"basis": basis.name, "kernelSize": basis.size, "nBasis": len(basis),
                "templateFwhm": convolved_fwhm, "scienceFwhm": reference_fwhm,
                "nCandidates": 0, "nUsed": 0, "kernelSource": "psf-model",
                "kernelSumCentre": float(scale), "psfModelScalePixels": n_fit,
                "psfModelScaleSource": scale_source,
                "spatialKernelOrderUsed": 0, "spatialBgOrderUsed": 0}
    return PsfMatchResult(kernel, background_model, candidates, metadata, config,
                          np.zeros((0, len(basis) + int(config.fitForBackground))))


def _calibration_ratio(convolved, reference):
    """Counts of one source in ``reference`` per count in ``convolved``, from the zero points.

    1 when either image has no calibration: nothing on the stamp says otherwise.
    """
    if convolved.photo_calib is None or reference.photo_calib is None:
        return 1.0
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


def _scale_and_background(model, model_variance, target, usable, fit_background):
    """Flux scale and background of ``target ~ s model + b``.

    A least-squares slope would be biased low by the noise in ``model`` (the
    convolved template), fatally so on a stamp that is mostly sky; the scale
    is instead the ratio of the background-subtracted sums of both images over
    the pixels where the model holds significant flux (S/N >= 5 per pixel): a
    transient, absent from the model, is not among them. The backgrounds are
    clipped medians over the rest of the usable pixels.

    Returns
    -------
    scale : `float`
        ``s``; NaN when no pixel of the model is significant.
    target_sky, model_sky : `float`
        Backgrounds of both images (0 without ``fit_background``).
    n_pixels : `int`
        Pixels the scale was measured on.
    """
    model = model.astype(float)
    target = target.astype(float)
    keep = usable & (model_variance > 0)
    if keep.sum() < 3:
        raise PsfMatchInputError(
            f"only {int(keep.sum())} usable pixels to fit the flux scale from the PSF models")
    model_sky, target_sky = 0.0, 0.0
    if fit_background:
        model_sky, target_sky = clipped_stats(model[keep])[0], clipped_stats(target[keep])[0]
    source = keep & (model - model_sky >= _SOURCE_SNR * np.sqrt(np.where(keep, model_variance, 1.0)))
    scale = np.nan
    if source.any():
        scale = float((target[source] - target_sky).sum() / (model[source] - model_sky).sum())
    return scale, target_sky, model_sky, int(source.sum())
