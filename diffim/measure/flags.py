"""Pixel flags: which mask planes a source's footprint and centre touch.

For each plane of `schema.PIXEL_FLAGS`, ``base_PixelFlags_flag_<stem>`` says the
plane is set on some pixel of the footprint and ``base_PixelFlags_flag_<stem>Center`` that
it is set in the 3x3 pixels around the centroid (the stack's
``base_PixelFlags`` convention); ``base_PixelFlags_flag_edge`` is also set when the
footprint or the centre box touches the image border. Template planes
(``*_TEMPLATE``) give footprint flags only. Planes absent from the mask give
False.
"""
from __future__ import annotations

import numpy as np

from .schema import PIXEL_FLAG_PREFIX, PIXEL_FLAGS, TEMPLATE_PIXEL_FLAGS
from .stamps import gather

__all__ = ["BORDER_BIT", "footprint_mask_bits", "pixel_flags", "plane_mask"]


def pixel_flags(mask, bbox, footprint_bits, x, y):
    """Flag columns from the mask.

    Parameters
    ----------
    mask : `diffim.Mask`
        Mask of the difference image.
    bbox : `diffim.Box`
    footprint_bits : `numpy.ndarray`
        Per source, the OR of the mask values over its footprint (0 for
        sources without one, e.g. sky sources), with `BORDER_BIT` meaning
        "the footprint touches the image border" (see `footprint_mask_bits`).
    x, y : `numpy.ndarray`
        Centroids, parent coordinates.

    Returns
    -------
    flags : `dict` [`str`, `numpy.ndarray`]
        Column name -> boolean array.
    """
    ix = np.rint(np.asarray(x, float)).astype(int) - bbox.x0
    iy = np.rint(np.asarray(y, float)).astype(int) - bbox.y0
    centre, inside = gather(mask.array, ix, iy, 1)
    centre_bits = np.bitwise_or.reduce(centre.reshape(len(ix), 9), axis=1)
    centre_off_image = ~inside.reshape(len(ix), 9).all(axis=1)
    footprint_bits = np.asarray(footprint_bits, np.uint64)
    flags = {}
    for stem, plane in PIXEL_FLAGS.items():
        bit = np.uint64(mask.bitmask(plane)) if plane in mask.planes else np.uint64(0)
        flags[f"{PIXEL_FLAG_PREFIX}{stem}"] = (footprint_bits & bit) != 0
        flags[f"{PIXEL_FLAG_PREFIX}{stem}Center"] = (centre_bits.astype(np.uint64) & bit) != 0
    border = (footprint_bits & np.uint64(BORDER_BIT)) != 0
    flags[f"{PIXEL_FLAG_PREFIX}edge"] |= border | centre_off_image
    flags[f"{PIXEL_FLAG_PREFIX}edgeCenter"] |= centre_off_image
    for stem, plane in TEMPLATE_PIXEL_FLAGS.items():
        bit = np.uint64(mask.bitmask(plane)) if plane in mask.planes else np.uint64(0)
        flags[f"{PIXEL_FLAG_PREFIX}{stem}"] = (footprint_bits & bit) != 0
    return flags


BORDER_BIT = 1 << 32
"""A bit above the 32 mask bits: the footprint touches the image border."""


def footprint_mask_bits(mask, footprints, shape):
    """Per footprint, the OR of its mask values, plus `BORDER_BIT` if it touches the border.

    Parameters
    ----------
    mask : `diffim.Mask`
    footprints : `diffim.measure.footprints.Footprints`
    shape : `tuple`
        Image shape.
    """
    values = mask.array.ravel()[footprints.pixels].astype(np.uint64)
    rows, cols = np.divmod(footprints.pixels, shape[1])
    on_border = (rows == 0) | (cols == 0) | (rows == shape[0] - 1) | (cols == shape[1] - 1)
    values |= np.where(on_border, np.uint64(BORDER_BIT), np.uint64(0))
    return footprints.reduce(values, np.bitwise_or)


def plane_mask(exposure, planes):
    """Pixels of ``exposure`` with any of the mask ``planes`` (planes it lacks are ignored).

    Parameters
    ----------
    exposure : `diffim.Exposure`
    planes : iterable of `str`
        Mask plane names.

    Returns
    -------
    mask : `numpy.ndarray` [`bool`]
        Image-shaped; all False when the mask has none of the planes.
    """
    known = [p for p in planes if p in exposure.mask.planes]
    return exposure.mask.get(known) if known else np.zeros(exposure.shape, bool)
