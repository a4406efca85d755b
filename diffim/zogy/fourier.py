"""Real FFTs of images and PSF stamps on one padded grid.

Every ZOGY product is a linear filter of the two images (and of their
variance planes), applied as a product of spectra on a grid padded beyond
the image by at least the filters' reach, so that the periodic FFT does not
wrap one edge onto the other. Images are zero-padded, variance planes too:
near an edge a filter then sees fewer pixels in the image *and* in the
variance it propagates, so the two stay consistent.

The spectrum of a small, centred stamp (a PSF, a squared filter) on the big
grid is not taken with a big FFT of a mostly-zero array: it is the product
``E_y p E_x^T`` of two small DFT matrices with the stamp, one complex matrix
product whose cost is ``ny * (nx / 2 + 1) * m`` for an ``m``-pixel stamp.
"""
from __future__ import annotations

import numpy as np
import scipy.fft

__all__ = ["FFT_WORKERS", "forward", "grid_shape", "inverse", "stamp_spectrum"]

FFT_WORKERS = -1
"""Threads of every transform (all cores); the results do not depend on it."""


def grid_shape(shape, reach):
    """The padded transform shape for an image of ``shape`` and filters of half-width ``reach``.

    Parameters
    ----------
    shape : `tuple` [`int`, `int`]
        Image ``(ny, nx)``.
    reach : `int`
        Half-width of the filters' support, pixels.

    Returns
    -------
    shape : `tuple` [`int`, `int`]
        Each side at least ``side + 2 * reach`` and a fast length for a real FFT.
    """
    return tuple(scipy.fft.next_fast_len(side + 2 * reach, real=True) for side in shape)


def forward(image, shape):
    """Real 2-D spectrum of ``image`` zero-padded to ``shape`` (complex64 for float32 input)."""
    return scipy.fft.rfft2(image, s=shape, workers=FFT_WORKERS)


def inverse(spectrum, shape, crop, scale=1.0):
    """Inverse of `forward`, cut to ``crop`` ``(ny, nx)`` and multiplied by ``scale``.

    Returns a new contiguous float32 array (the cut and the scaling are one
    pass); ``spectrum`` is overwritten (the transform works in place on it).
    """
    image = scipy.fft.irfft2(spectrum, s=shape, workers=FFT_WORKERS, overwrite_x=True)
    out = np.empty(crop, dtype=np.float32)
    np.multiply(image[:crop[0], :crop[1]], np.float32(scale), out=out)
    return out


def _dft_matrix(length, count, half, dtype):
    """``exp(-2 pi i k d / length)`` for frequencies ``k < count`` and offsets ``d`` in [-half, half]."""
    frequencies = np.arange(count, dtype=np.float64)[:, None]
    offsets = np.arange(-half, half + 1, dtype=np.float64)[None, :]
    # The phase is reduced modulo 1 in float64 before the exponential, so the
    # matrix is exact to its own rounding at every frequency.
    phase = np.mod(frequencies * offsets, length) / length
    return np.exp(-2j * np.pi * phase).astype(dtype)


def stamp_spectrum(stamp, shape, *, precise=False):
    """The real-FFT spectrum on ``shape`` of a centred, odd-sized stamp.

    Parameters
    ----------
    stamp : `numpy.ndarray`
        ``(m, m)`` image whose middle pixel is the origin (a PSF kernel image).
    shape : `tuple` [`int`, `int`]
        The transform grid ``(ny, nx)``.
    precise : `bool`
        Sum in double precision before rounding to complex64, so that every
        value keeps float32 *relative* precision, however small: a PSF's
        spectrum falls to 1e-9 and below at high frequencies, where ZOGY's
        filters use its phase (``P^ / |P^|``), which a single-precision sum,
        accurate to ~1e-7 of the peak, would scramble. Twice the cost.

    Returns
    -------
    spectrum : `numpy.ndarray`
        complex64 ``(ny, nx // 2 + 1)``: what `forward` gives for the stamp
        placed with its middle pixel at pixel (0, 0), wrapped around.
    """
    dtype = np.complex128 if precise else np.complex64
    half = stamp.shape[0] // 2
    ny, nx = shape
    rows = _dft_matrix(ny, ny, half, dtype)
    columns = _dft_matrix(nx, nx // 2 + 1, half, dtype)
    inner = np.asarray(stamp).astype(dtype) @ columns.T
    return (rows @ inner).astype(np.complex64, copy=False)
