"""The PSF of a warped exposure: the input PSF carried to the target frame.

`warp_psf` is the PSF step of `diffim.warp.warp_exposure` (see its Notes):
a pure translation moves the PSF exactly (`translated_psf`); otherwise the
input PSF is resampled through the local Jacobian (`transform_kernel`) on a
grid of nodes over the target box.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..psf import (
    DoubleGaussianPsf,
    GaussianPsf,
    InterpolatedPsf,
    MoffatPsf,
    PixelPsf,
    VaryingPsf,
)
from .geometry import POSITION_SNAP, UNIT_SNAP, local_jacobians, map_pixels

__all__ = ["transform_kernel", "translated_psf", "warp_psf"]

# Analytic and pixel PSFs are the same everywhere, so a translated copy is the PSF itself.
_CONSTANT_PSFS = (GaussianPsf, DoubleGaussianPsf, MoffatPsf, PixelPsf)


def warp_psf(psf, source_bbox, source_wcs, target_wcs, target_bbox, footprint, n_nodes):
    """The input PSF carried to the target frame (see `diffim.warp.warp_exposure`, Notes).

    Nodes outside ``footprint`` (the target pixels that can see the input)
    take the PSF of the nearest footprint pixel: the mapping and its
    Jacobian are only evaluated where the input's WCS is meant to be used.
    """
    if psf is None:
        return None
    corners_x = np.array([footprint.x0, footprint.x_end - 1, footprint.x0,
                          footprint.center[0]], dtype=float)
    corners_y = np.array([footprint.y0, footprint.y0, footprint.y_end - 1,
                          footprint.center[1]], dtype=float)
    jacobians = local_jacobians(source_wcs, target_wcs, corners_x, corners_y)
    if np.all(np.abs(jacobians - np.eye(2)) < UNIT_SNAP):
        source_x, source_y = map_pixels(source_wcs, target_wcs, corners_x, corners_y)
        shifted = translated_psf(psf, corners_x - source_x, corners_y - source_y)
        if shifted is not None:
            return shifted

    def warped_at(x, y):
        x = float(np.clip(x, footprint.x0, footprint.x_end - 1))
        y = float(np.clip(y, footprint.y0, footprint.y_end - 1))
        source_x, source_y = map_pixels(source_wcs, target_wcs, x, y)
        # Nodes of a target box larger than the input see the PSF at the
        # nearest input pixel: a PSF model is not valid beyond its image.
        if not (np.isfinite(source_x) and np.isfinite(source_y)):
            source_x, source_y = source_bbox.center
        source_x = float(np.clip(source_x, source_bbox.x0, source_bbox.x_end - 1))
        source_y = float(np.clip(source_y, source_bbox.y0, source_bbox.y_end - 1))
        jacobian = local_jacobians(source_wcs, target_wcs, x, y)[0]
        kernel_image = psf.computeKernelImage(source_x, source_y)
        if not np.all(np.abs(jacobian - np.eye(2)) < UNIT_SNAP):
            kernel_image = transform_kernel(kernel_image, jacobian)
        return PixelPsf(kernel_image)

    return InterpolatedPsf.from_model(warped_at, target_bbox, n_nodes, n_nodes)


def translated_psf(psf, shift_x, shift_y):
    """The PSF moved by a constant shift (target = source + shift), exactly, or None.

    Constant PSFs stay as they are; an `InterpolatedPsf` moves its nodes; a
    `VaryingPsf` moves its normalisation box when the shift is whole pixels.
    Anything else (or a shift that is not constant) returns None, and the
    caller samples the PSF on a grid instead.
    """
    if np.ptp(shift_x) > POSITION_SNAP or np.ptp(shift_y) > POSITION_SNAP:
        return None
    shift_x, shift_y = float(np.mean(shift_x)), float(np.mean(shift_y))
    whole_x, whole_y = round(shift_x), round(shift_y)
    if abs(shift_x - whole_x) < POSITION_SNAP and abs(shift_y - whole_y) < POSITION_SNAP:
        shift_x, shift_y = whole_x, whole_y
    if isinstance(psf, _CONSTANT_PSFS) or (shift_x == 0 and shift_y == 0):
        return psf
    if isinstance(psf, InterpolatedPsf):
        return InterpolatedPsf(psf.kernel_images, psf.x_nodes + shift_x, psf.y_nodes + shift_y)
    if isinstance(psf, VaryingPsf) and isinstance(shift_x, int) and isinstance(shift_y, int):
        return VaryingPsf(psf.model, psf.fields, psf.bbox.shifted(shift_x, shift_y),
                          size=psf.size)
    return None


def transform_kernel(kernel_image, jacobian):
    """A centred kernel image seen through the linear map ``jacobian`` (target -> source).

    Target offset ``d`` from the middle pixel samples the source kernel at
    ``J d``; the result is renormalised to sum 1, which absorbs ``|det J|``.
    """
    size = kernel_image.shape[0]
    offsets = np.arange(size) - size // 2
    dx, dy = np.meshgrid(offsets, offsets)
    source_dx = jacobian[0, 0] * dx + jacobian[0, 1] * dy
    source_dy = jacobian[1, 0] * dx + jacobian[1, 1] * dy
    resampled = ndimage.map_coordinates(kernel_image, [source_dy + size // 2,
                                                       source_dx + size // 2],
                                        order=3, mode="constant", cval=0.0)
    # A cubic spline rings slightly negative in the far wings; a PSF image must
    # stay a positive-sum image, and the wings carry ~1e-4 of the flux.
    resampled = np.clip(resampled, 0.0, None)
    return resampled / resampled.sum()
