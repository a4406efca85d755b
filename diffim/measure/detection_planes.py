"""The detection planes of the measured difference's mask, each step one pass over the mask.

`DetectAndMeasureTask` clears DETECTED and DETECTED_NEGATIVE before
detecting and sets them from the footprints after; around each it needs a
boolean image of the pixels free of some planes, and the detected share of
the usable pixels. A 4k mask is 64 MB: each step reads and writes it once
(`diffim._core._detection_planes`) instead of once per plane and per
boolean image.
"""
from __future__ import annotations

import numpy as np

from .._core import _detection_planes

__all__ = ["DETECTION_PLANES", "clear_detections", "mark_detections"]

DETECTION_PLANES = ("DETECTED", "DETECTED_NEGATIVE")
"""The planes of positive and negative detections."""


def _known_bits(mask, planes):
    """Bits of the ``planes`` the mask's table has (the others ignored)."""
    return mask.bitmask([name for name in planes if name in mask.planes])


def _rows(mask):
    """The mask's array, which the passes write in place: it must be C-contiguous."""
    if not mask.array.flags.c_contiguous:
        raise ValueError("detection planes: the mask array must be C-contiguous (a copy's is)")
    return mask.array


def clear_detections(mask, excluded_planes):
    """Clear the detection planes; return the pixels with none of ``excluded_planes``.

    Parameters
    ----------
    mask : `diffim.Mask`
        C-contiguous; changed in place.
    excluded_planes : iterable of `str`
        Planes the mask's table lacks are ignored.

    Returns
    -------
    unmasked : `numpy.ndarray` [`bool`]
        ``mask.unmasked(excluded_planes)`` once the planes are cleared.
    """
    unmasked = np.empty(mask.shape, bool)
    _detection_planes.clear_and_unmasked(_rows(mask), _known_bits(mask, DETECTION_PLANES),
                                         _known_bits(mask, excluded_planes),
                                         unmasked.view(np.uint8))
    return unmasked


def mark_detections(mask, positive, negative, counted, excluded_planes):
    """Set the detection planes; return the detected fraction and the unmasked pixels.

    Parameters
    ----------
    mask : `diffim.Mask`
        C-contiguous, its detection planes clear (`clear_detections`);
        DETECTED is set where ``positive``, DETECTED_NEGATIVE where
        ``negative`` (each added to the table if new, in that order).
    positive, negative : `numpy.ndarray` [`bool`]
        The grown detections, of the mask's shape.
    counted : `numpy.ndarray` [`bool`]
        The pixels the detected fraction counts, of the mask's shape.
    excluded_planes : iterable of `str`
        Planes the returned pixels are free of (the table's, once the
        detection planes are in it).

    Returns
    -------
    fraction : `float`
        Detected pixels among ``counted`` over the ``counted`` pixels (over 1
        when there are none).
    unmasked : `numpy.ndarray` [`bool`]
        ``mask.unmasked(excluded_planes)`` once the planes are set.
    """
    images = {"positive": positive, "negative": negative, "counted": counted}
    for name, image in images.items():
        # The pass reads them unchecked, as bytes, over the mask's shape.
        if image.dtype != bool or image.shape != mask.shape:
            raise ValueError(f"mark_detections: {name} must be a bool array of the mask's shape "
                             f"{mask.shape}, not {image.dtype} {image.shape}")
    bits = [mask.planes.add(name) for name in DETECTION_PLANES]
    unmasked = np.empty(mask.shape, bool)
    views = [np.ascontiguousarray(image).view(np.uint8) for image in images.values()]
    detected, total = _detection_planes.mark_detections(
        _rows(mask), 1 << bits[0], 1 << bits[1], *views, _known_bits(mask, excluded_planes),
        unmasked.view(np.uint8))
    return float(detected / max(total, 1)), unmasked
