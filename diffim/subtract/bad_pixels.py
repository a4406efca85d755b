"""Masking the pixels of an input that no subtraction can use.

Real images arrive with a few unusable pixels that nothing has flagged: NaN or
infinite values (mosaic gaps, JWST's "no data"), a variance map with NaN,
+inf or a value <= 0 at a few pixels, values above the saturation level. One
such pixel must cost that pixel, not the run: `mask_bad_pixels` flags them
(NO_DATA, BAD; saturation is flagged SAT by the readers), zeroes the image and
variance where they are not finite, and counts them, so that only an image with too little left is an error.
"""
from __future__ import annotations

import numpy as np

from .._core import _planes
from ..errors import DiffimError

__all__ = ["TooFewGoodPixelsError", "mask_bad_pixels"]


class TooFewGoodPixelsError(DiffimError):
    """Less of an image is usable than ``minGoodPixelFraction``."""


def mask_bad_pixels(exposure, label, *, unusable_planes=("NO_DATA", "BAD", "SAT"),
                    min_good_fraction=0.1):
    """Flag unusable pixels of ``exposure``; the exposure itself when there are none.

    Parameters
    ----------
    exposure : `diffim.Exposure`
        Not modified.
    label : `str`
        ``"science"`` or ``"template"``, for messages.
    unusable_planes : sequence of `str`
        Planes that make a pixel unusable when counting what is left.
    min_good_fraction : `float`
        Fewest usable pixels, as a fraction of the image.

    Returns
    -------
    exposure : `diffim.Exposure`
        ``exposure`` when nothing needed flagging, else a copy with the new
        flags (image and variance 0 where they were not finite).
    counts : `dict` [`str`, `int`]
        Flagged pixels per plane, by the caller (a reader masks saturation) or
        here: ``NO_DATA`` (non-finite image), ``BAD`` (non-finite or <= 0
        variance on a finite image), ``SAT``.

    Raises
    ------
    TooFewGoodPixelsError
        If less than ``min_good_fraction`` of the image is left usable.
    """
    image, variance = exposure.image, exposure.variance
    planes = [p for p in unusable_planes if p in exposure.mask.planes]
    # One counting pass first: most images need no flagging, and then no
    # image-sized temporary is made.
    n_already, n_no_data, n_bad = _planes.count_unusable(
        np.asarray(image, dtype=np.float32), np.asarray(variance, dtype=np.float32),
        exposure.mask.array, exposure.mask.bitmask(planes))
    if n_no_data or n_bad:
        already = exposure.mask.get(planes)
        no_data = ~np.isfinite(image) & ~already
        bad = ~(variance > 0) | ~np.isfinite(variance)  # NaN compares False: caught by the first
        bad &= ~already & ~no_data
        exposure = exposure.copy()
        exposure.mask.set("NO_DATA", no_data)
        exposure.mask.set("BAD", bad)
        exposure.image[no_data] = 0.0
        exposure.variance[no_data | (bad & ~np.isfinite(exposure.variance))] = 0.0
    counts = {plane: exposure.mask.count(plane) if plane in exposure.mask.planes else 0
              for plane in ("NO_DATA", "BAD", "SAT")}
    good = 1.0 - (n_already + n_no_data + n_bad) / image.size
    if good < min_good_fraction or good == 0.0:
        raise TooFewGoodPixelsError(
            f"only {100 * good:.1f}% of the {label} pixels are usable (less than "
            f"minGoodPixelFraction={min_good_fraction}): {_describe(counts)} masked")
    return exposure, counts


def _describe(counts):
    return ", ".join(f"{count} {plane}" for plane, count in counts.items())
