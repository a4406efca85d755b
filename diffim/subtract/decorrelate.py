"""The Fourier-space decorrelation afterburner for AL difference images.

Convolving one image with the matching kernel K correlates its noise: the
difference ``D = S - K (x) T`` (convolveTemplate) has noise power
``svar + tvar |K(k)|^2`` at spatial frequency k, not a white spectrum. The
afterburner convolves D with a correction whose Fourier transform is

.. math::

    \\phi(k) = \\sqrt{\\frac{svar + tvar\\,\\kappa^2}{svar + tvar\\,|\\hat K(k)|^2}}

with :math:`\\kappa = \\hat K(0)` the kernel sum, which makes the noise white
again with variance ``svar + tvar * kappa^2``; the PSF of the difference is
convolved with the same correction. ``svar`` is the variance of the image left
unconvolved and ``tvar`` that of the convolved one, so the same formula serves
convolveScience with the roles swapped.

K is the kernel evaluated at the image centre, as the stack does; ``svar`` and
``tvar`` are sigma-clipped means of the variance planes.

A score image (science pre-convolved with its PSF P, `diffim.subtract.preconvolve`)
has noise power ``svar |P(k)|^2 + tvar |K(k)|^2``; the stack's
``computeScoreCorrection``

.. math::

    \\phi_s(k) = \\sqrt{\\frac{svar + tvar\\,\\kappa^2}
                           {svar + tvar\\,|\\hat K(k)|^2 / |\\hat P(k)|^2}}
               = |\\hat P(k)| \\sqrt{\\frac{svar + tvar\\,\\kappa^2}
                                       {svar\\,|\\hat P(k)|^2 + tvar\\,|\\hat K(k)|^2}}

(computed in the second, bounded form) leaves the noise of white noise of
variance ``svar + tvar * kappa^2`` convolved with P: the image stays a
matched-filtered one, with pixel variance ``(svar + tvar kappa^2) sum(P^2)``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft

from .._core import _planes
from ..errors import DiffimError
from ..image.stats import clipped_mean_std

__all__ = ["DecorrelationResult", "correction_spectrum", "decorrelate", "mean_variance"]

_FFT_WORKERS = -1
_ROW_BLOCK = 64


@dataclass
class DecorrelationResult:
    """What `decorrelate` returns.

    Attributes
    ----------
    image, variance : `numpy.ndarray`
        The decorrelated difference image and its variance plane (float32).
    correction_kernel : `numpy.ndarray`
        The correction in real space, centred, odd-sized (twice the matching
        kernel): convolving a PSF kernel image with it gives the difference
        PSF after decorrelation.
    variance_factor : `float`
        Factor applied to the variance plane: white-noise level after
        correction over the level before.
    """

    image: np.ndarray
    variance: np.ndarray
    correction_kernel: np.ndarray
    variance_factor: float


_MAX_SAMPLES = 1 << 20


def mean_variance(variance, good):
    """Sigma-clipped mean level of a variance plane over ``good`` pixels.

    At most about a million evenly strided pixels are used: the level of a
    smooth plane needs no more.
    """
    variance, good = np.asarray(variance), np.asarray(good, dtype=bool)
    if variance.dtype == np.float32 and variance.ndim == 2:
        # The same values, without gathering every good pixel of a 4k plane first.
        values = _planes.strided_good_values(np.ascontiguousarray(variance),
                                             np.ascontiguousarray(good).view(np.uint8),
                                             _MAX_SAMPLES)
    else:
        values = variance[good]
        values = values[::max(1, values.size // _MAX_SAMPLES)]
    if values.size == 0:
        raise DiffimError("cannot estimate the mean variance: no unmasked pixel")
    return clipped_mean_std(values)[0]


def _spectrum_plane(shape):
    """An uninitialised complex64 plane for the real FFT of an image of ``shape``."""
    return np.empty((shape[0], shape[1] // 2 + 1), dtype=np.complex64)


def _kernel_transform(kernel_image, shape, out=None):
    """Real FFT (single precision) of a centred kernel image placed with its centre at (0, 0).

    As ``scipy.fft.rfft2`` of the padded kernel, without the padded plane:
    only the rows that hold the kernel are transformed along x (the others
    transform to zero), then the columns in place, in ``out`` (a
    `_spectrum_plane`) when given. Single precision keeps the 4k x 4k plane
    at half size; the spectrum of a unit-sum kernel needs no more than seven
    digits.
    """
    height, width = kernel_image.shape
    if height > shape[0] or width > shape[1]:
        raise DiffimError(f"kernel of {width}x{height} px is larger than the image {shape[::-1]}")
    # Placed wrapped around the corners directly (np.roll would copy the plane).
    rows = (np.arange(height) - height // 2) % shape[0]
    cols = (np.arange(width) - width // 2) % shape[1]
    strip = np.zeros((height, shape[1]), dtype=np.float32)
    strip[:, cols] = kernel_image
    spectrum = _spectrum_plane(shape) if out is None else out
    spectrum.fill(0)
    spectrum[rows] = scipy.fft.rfft(strip, axis=1, workers=_FFT_WORKERS)
    return scipy.fft.fft(spectrum, axis=0, overwrite_x=True, workers=_FFT_WORKERS)


def _forward_real_fft(image, out):
    """``scipy.fft.rfft2(image)`` (the same bits) into ``out``, a `_spectrum_plane`.

    The rows `_ROW_BLOCK` at a time, in the SIMD groups of a whole rfft2,
    then the columns in place: no plane is allocated.
    """
    for start in range(0, image.shape[0], _ROW_BLOCK):
        block = slice(start, start + _ROW_BLOCK)
        out[block] = scipy.fft.rfft(image[block], axis=1, workers=_FFT_WORKERS)
    return scipy.fft.fft(out, axis=0, overwrite_x=True, workers=_FFT_WORKERS)


def _inverse_real_fft(spectrum, shape, out, rows=None):
    """``scipy.fft.irfft2(spectrum, s=shape)`` (the same bits) into ``out``, overwriting
    ``spectrum``; only the ``rows`` given (all by default).

    scipy's irfft2 transforms the columns into a second complex plane and
    returns a new real plane; here the columns are transformed in place and
    the rows `_ROW_BLOCK` at a time into ``out``, so a 4k inverse holds one
    complex plane. The 1/N normalisation is applied last, as irfft2 does.
    """
    spectrum = scipy.fft.ifft(spectrum, axis=0, norm="forward", overwrite_x=True,
                              workers=_FFT_WORKERS)
    scale = 1.0 / (shape[0] * shape[1])
    count = shape[0] if rows is None else len(rows)
    for start in range(0, count, _ROW_BLOCK):
        block = slice(start, min(start + _ROW_BLOCK, count))
        lines = scipy.fft.irfft(spectrum[block] if rows is None else spectrum[rows[block]],
                                n=shape[1], axis=1, norm="forward", workers=_FFT_WORKERS)
        lines *= lines.dtype.type(scale)
        out[block] = lines
    return out


def correction_spectrum(kernel_image, unconvolved_variance, convolved_variance, shape,
                        preconvolution_kernel=None, *, work=None):
    """The correction's Fourier transform phi(k) on the real-FFT grid of ``shape``.

    Parameters
    ----------
    kernel_image : `numpy.ndarray`
        Matching kernel (odd size, centred), as applied to the convolved image.
    unconvolved_variance, convolved_variance : `float`
        Mean variances of the image left as is and of the image convolved with K.
    shape : `tuple` [`int`, `int`]
        Image shape.
    preconvolution_kernel : `numpy.ndarray`, optional
        The PSF the science image was pre-convolved with (unit sum, centred):
        the score-image correction phi_s instead of phi.
    work : `numpy.ndarray`, optional
        complex64 plane of the returned shape to transform the kernels in
        (its values are lost) instead of a new one.

    Returns
    -------
    phi : `numpy.ndarray`
        Real, positive, float32, shape ``(shape[0], shape[1] // 2 + 1)``.
    """
    if not (unconvolved_variance > 0 and convolved_variance >= 0):
        raise DiffimError(f"decorrelation needs positive variances, got "
                          f"{unconvolved_variance} and {convolved_variance}")
    kernel_sum = float(kernel_image.sum())
    power = np.abs(_kernel_transform(kernel_image, shape, work))
    np.square(power, out=power)
    power *= np.float32(convolved_variance)
    if preconvolution_kernel is None:
        power += np.float32(unconvolved_variance)
    else:
        psf_modulus = np.abs(_kernel_transform(preconvolution_kernel, shape, work))
        power += np.float32(unconvolved_variance) * psf_modulus ** 2
        # Both spectra vanish only where the score holds neither signal nor noise.
        np.maximum(power, np.finfo(np.float32).tiny, out=power)
    np.divide(np.float32(unconvolved_variance + convolved_variance * kernel_sum ** 2), power,
              out=power)
    np.sqrt(power, out=power)
    if preconvolution_kernel is not None:
        power *= psf_modulus
    return power


def decorrelate(difference, variance, kernel_image, unconvolved_variance, convolved_variance,
                preconvolution_kernel=None, overwrite=False):
    """Convolve a difference image with the decorrelation correction.

    Parameters
    ----------
    difference, variance : `numpy.ndarray`
        Difference image and its variance plane; masked pixels should hold
        finite values (they are spread by the correction like any other).
    kernel_image : `numpy.ndarray`
        Matching kernel at the image centre.
    unconvolved_variance, convolved_variance : `float`
        See `correction_spectrum`.
    preconvolution_kernel : `numpy.ndarray`, optional
        For a score image: the PSF P the science image was pre-convolved
        with. ``unconvolved_variance`` is then the level of the pre-convolved
        science image's variance plane, ``svar sum(P^2)``.
    overwrite : `bool`
        Write the results into ``difference`` and ``variance`` (float32
        planes the caller owns) instead of new planes: two fewer image planes
        at the peak memory of a subtraction.

    Returns
    -------
    result : `DecorrelationResult`

    Notes
    -----
    The variance plane is rescaled, not convolved: the correction makes the
    noise white at ``svar + tvar kappa^2``, while the plane, ``svar + tvar
    sum(K^2)`` for uniform inputs, described the per-pixel variance of the
    correlated noise. Rescaling keeps the plane's spatial structure (stars,
    gradients) and sets its level to the white-noise one. For a score image
    both levels carry the pre-convolution's gain ``g = sum(P^2)``: ``svar g +
    tvar sum(K^2)`` before, ``(svar + tvar kappa^2) g`` after.
    """
    finite = (_planes.all_finite(difference) if difference.dtype == np.float32
              and difference.ndim == 2 else np.isfinite(difference).all())
    if not finite:
        raise DiffimError("decorrelation input has non-finite pixels")
    gain = 1.0 if preconvolution_kernel is None else float((preconvolution_kernel ** 2).sum())
    unconvolved_variance = unconvolved_variance / gain
    # One complex plane serves, in turn, the kernels' transforms, the
    # stamp's inverse and the image's spectrum: fresh 4k planes cost their
    # page zeroing (67 MB each).
    spectrum = _spectrum_plane(difference.shape)
    phi = correction_spectrum(kernel_image, unconvolved_variance, convolved_variance,
                              difference.shape, preconvolution_kernel, work=spectrum)
    # The real-space stamp first and phi dropped once applied: fewer
    # image-sized planes alive at once (the peak memory of a subtraction).
    correction = _real_space_stamp(phi, difference.shape, kernel_image.shape[0], work=spectrum)
    spectrum = _forward_real_fft(difference.astype(np.float32, copy=False), spectrum)
    spectrum *= phi
    del phi
    image = _inverse_real_fft(spectrum, difference.shape,
                              difference if overwrite else np.empty(difference.shape, np.float32))
    del spectrum
    kernel_sum = float(kernel_image.sum())
    correlated = (unconvolved_variance * gain
                  + convolved_variance * float((kernel_image ** 2).sum()))
    white = (unconvolved_variance + convolved_variance * kernel_sum ** 2) * gain
    factor = white / correlated
    if overwrite:
        variance *= np.float32(factor)
    else:
        variance = (variance * np.float32(factor)).astype(np.float32, copy=False)
    return DecorrelationResult(image, variance, correction, factor)


def _real_space_stamp(spectrum, shape, half_size, work=None):
    """The centred ``(2 half_size + 1)^2`` stamp of a real, symmetric spectrum, sum 1.

    phi(0) = 1, so the full kernel sums to one; the stamp is renormalised for
    the little that falls outside it. Only the stamp's rows are taken after
    the column transforms, so the full real-space plane is never made. The
    transform runs in ``work`` (a `_spectrum_plane`) when given.
    """
    half = min(half_size, shape[0] // 2 - 1, shape[1] // 2 - 1)
    # The centre is at (0, 0): the stamp wraps around the corners (indexed,
    # not fftshift-ed, which would copy the whole plane).
    offsets = np.arange(-half, half + 1)
    # Whole blocks of _ROW_BLOCK rows at both ends: the row transforms then run
    # in the same SIMD groups as in a full irfft2, which gives the same bits.
    block = -(-(half + 1) // _ROW_BLOCK) * _ROW_BLOCK
    rows = (np.arange(shape[0]) if 2 * block >= shape[0]
            else np.concatenate([np.arange(block), np.arange(shape[0] - block, shape[0])]))
    if work is None:
        work = _spectrum_plane(shape)
    np.copyto(work, spectrum)
    lines = _inverse_real_fft(work, shape, np.empty((len(rows), shape[1]), np.float32), rows)
    stamp = lines[np.ix_(np.searchsorted(rows, offsets % shape[0]), offsets % shape[1])]
    return stamp / stamp.sum()
