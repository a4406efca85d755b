"""Square stamps of many sources at once, as one ``(n, size, size)`` array.

Measuring a thousand sources one Python call at a time costs more than the
measurement itself; gathering every stamp with one fancy-indexing operation
lets the measurements be array expressions over the source axis.
"""
from __future__ import annotations

import numpy as np

__all__ = ["gather", "psf_models"]


def gather(array, ix, iy, half, fill=0.0):
    """Stamps of ``array`` centred on array pixels ``(ix, iy)``.

    Parameters
    ----------
    array : `numpy.ndarray`
        2-D array indexed ``[y, x]``.
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
    """
    offsets = np.arange(-half, half + 1)
    rows = np.asarray(iy)[:, None, None] + offsets[None, :, None]
    cols = np.asarray(ix)[:, None, None] + offsets[None, None, :]
    inside = (rows >= 0) & (rows < array.shape[0]) & (cols >= 0) & (cols < array.shape[1])
    stamps = array[np.clip(rows, 0, array.shape[0] - 1), np.clip(cols, 0, array.shape[1] - 1)]
    stamps = np.where(inside, stamps, np.asarray(fill, array.dtype))
    return stamps, inside


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
