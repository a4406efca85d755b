"""The mask of a ZOGY difference: both inputs' planes, spread by the filters.

Both images are convolved (by ``c_n`` and ``c_r``), so a flagged pixel of
either reaches every output pixel within the filters' half-width: the
difference mask is the OR of the two masks (template planes matched by
name), dilated over the PSF stamp as `diffim.psfmatch.convolve_exposure`
does for one convolved image, with EDGE within that half-width of the border
(where the filters run off the image).
"""
from __future__ import annotations

import numpy as np

from .._core import _al_convolve
from ..mask import MASK_DTYPE, Mask

__all__ = ["difference_mask"]


def _combined(science_mask, template_mask):
    """Science planes OR template planes (by name), in the science plane table (a copy)."""
    combined = science_mask.copy()
    if template_mask.planes == science_mask.planes:
        combined.array |= template_mask.array
        return combined
    for name in template_mask.planes:
        where = template_mask.get(name)
        if where.any():
            combined.set(name, where)
    return combined


def difference_mask(science_mask, template_mask, half_width):
    """The difference's mask.

    Parameters
    ----------
    science_mask, template_mask : `diffim.Mask`
        Input masks on the same grid; not modified.
    half_width : `int`
        Half-width of the spreading (the PSF stamp's), pixels.

    Returns
    -------
    mask : `diffim.Mask`
    """
    combined = _combined(science_mask, template_mask)
    size = 2 * half_width + 1
    spread = np.empty(combined.shape, dtype=MASK_DTYPE)
    _al_convolve.dilate_mask(np.ascontiguousarray(combined.array), spread, size)
    mask = Mask(spread, combined.planes)
    edge = MASK_DTYPE(1 << mask.add_plane("EDGE"))
    for border in (np.s_[:half_width], np.s_[spread.shape[0] - half_width:],
                   np.s_[:, :half_width], np.s_[:, spread.shape[1] - half_width:]):
        spread[border] |= edge
    return mask
