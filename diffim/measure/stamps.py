"""Square stamps of many sources at once, as one ``(n, size, size)`` array.

Measuring a thousand sources one Python call at a time costs more than the
measurement itself; gathering every stamp with one fancy-indexing operation
lets the measurements be array expressions over the source axis.
"""
from __future__ import annotations

import numpy as np

from .._core import _planes

__all__ = ["gather", "psf_models", "unmasked_stamps", "usable_stamps"]

_GATHERED = {np.dtype(np.float32): np.float32, np.dtype(np.uint32): np.uint32,
             np.dtype(bool): np.uint8}
"""The dtypes `gather` takes, and the view its kernel sees them as."""


def gather(array, ix, iy, half, fill=0.0):
    """Stamps of ``array`` centred on array pixels ``(ix, iy)``.

    Parameters
    ----------
    array : `numpy.ndarray`
        2-D array indexed ``[y, x]``: float32, uint32 (a mask) or bool.
    ix, iy : `numpy.ndarray` of `int`
        Centre pixels in array coordinates (may lie anywhere).
    half : `int`
        Stamps are ``2 half + 1`` pixels on a side.
    fill : scalar
        Value of stamp pixels outside ``array``.

    Returns
    -------
    stamps : `numpy.ndarray`
        ``(n, 2 half + 1, 2 half + 1)`` of ``array.dtype``.
    inside : `numpy.ndarray` of `bool`
        Same shape: True where the stamp pixel lies inside ``array``.

    Raises
    ------
    TypeError
        For an array of another dtype.
    """
    if array.dtype not in _GATHERED:
        raise TypeError(f"gather: stamps of {array.dtype} arrays are not supported")
    ix = np.ascontiguousarray(ix, dtype=np.intp).reshape(-1)
    iy = np.ascontiguousarray(iy, dtype=np.intp).reshape(-1)
    offsets = np.arange(-half, half + 1)
    rows, cols = iy[:, None] + offsets, ix[:, None] + offsets
    inside = (((rows >= 0) & (rows < array.shape[0]))[:, :, None]
              & ((cols >= 0) & (cols < array.shape[1]))[:, None, :])
    stamps = np.empty(inside.shape, array.dtype)
    view = _GATHERED[array.dtype]
    _planes.gather_stamps(array.view(view), ix, iy, half,
                          np.asarray(fill, array.dtype).view(view)[()], stamps.view(view))
    return stamps, inside


def usable_stamps(usable, ix, iy, half):
    """Stamps of the usable pixels around array pixels ``(ix, iy)``, False outside the array.

    Parameters
    ----------
    usable : `numpy.ndarray` [`bool`] or callable
        The usable pixels, or a function of ``(ix, iy, half)`` that returns
        their stamps (`unmasked_stamps`: no image-sized array for a few
        thousand stamps).
    ix, iy : `numpy.ndarray` of `int`
    half : `int`
        As `gather`'s.
    """
    if callable(usable):
        return usable(ix, iy, half)
    return gather(usable, ix, iy, half, fill=False)[0]


def unmasked_stamps(mask, planes):
    """The `usable_stamps` function of the pixels of ``mask`` with none of ``planes``.

    Parameters
    ----------
    mask : `diffim.Mask`
    planes : iterable of `str`
        Planes the mask's table lacks are ignored, as `diffim.Mask.unmasked` does.

    Returns
    -------
    stamps : callable
        ``stamps(ix, iy, half)``: what ``gather(mask.unmasked(planes), ix, iy,
        half, fill=False)[0]`` gives, from stamps of the mask alone.
    """
    bits = mask.array.dtype.type(mask.bitmask([name for name in planes if name in mask.planes]))

    def stamps(ix, iy, half):
        values, inside = gather(mask.array, ix, iy, half)
        return ((values & bits) == 0) & inside

    return stamps


def psf_models(psf, x, y):
    """PSF images at sub-pixel parent positions, centred on the nearest pixels.

    Parameters
    ----------
    psf : `diffim.psf.Psf`
    x, y : `numpy.ndarray`
        Parent positions.

    Returns
    -------
    models : `numpy.ndarray`
        ``(n, size, size)`` float64, each summing to 1 with its centroid at
        ``(x, y)``; stamp ``i`` is centred on pixel ``(round(x_i), round(y_i))``.
    """
    size = psf.size
    models = np.empty((len(x), size, size))
    for index, (x_i, y_i) in enumerate(zip(x, y)):
        models[index] = psf.computeImage(float(x_i), float(y_i))[0]
    return models
